// Package all registers every check area of the catalog. Import it for its
// side effects; it is the one place where areas are wired in (see
// restic's backend/all for the pattern).
package all

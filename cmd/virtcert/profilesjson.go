package main

import "github.com/virtcert/virtcert/suites"

// ProfilesSchema identifies `profiles --json` (reports/SCHEMA.md).
const ProfilesSchema = "virtcert.profiles/v1"

// profilesDoc is `profiles --json`: the profiles by name order, each with
// its values per check (the YAML's checks: map).
type profilesDoc struct {
	SchemaVersion string       `json:"schema_version"`
	Profiles      []profileDoc `json:"profiles"`
}

type profileDoc struct {
	Name        string                    `json:"name"`
	Title       string                    `json:"title"`
	Description string                    `json:"description"`
	Hypervisor  string                    `json:"hypervisor"` // what the guest should detect
	Host        string                    `json:"host"`       // the host hypervisor the profile is for
	Source      string                    `json:"source"`     // built-in file or path
	Checks      map[string]map[string]any `json:"checks"`     // check ID -> values; "skip" = the reason it SKIPs
}

func profilesDocOf(bp map[string]*suites.Profile, names []string) profilesDoc {
	doc := profilesDoc{SchemaVersion: ProfilesSchema, Profiles: []profileDoc{}}
	for _, n := range names {
		p := bp[n]
		checks := p.Checks
		if checks == nil {
			checks = map[string]map[string]any{}
		}
		doc.Profiles = append(doc.Profiles, profileDoc{Name: p.Name, Title: p.Title, Description: p.Description,
			Hypervisor: p.Hypervisor, Host: p.Host, Source: p.Source, Checks: checks})
	}
	return doc
}

package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/virtcert/virtcert/drivers"
	"github.com/virtcert/virtcert/resolve"
	"github.com/virtcert/virtcert/suites"
)

// profileName picks the expectation profile: the plan's, else the
// driver's default for what the host reported.
func (r *runner) profileName(rt *resolve.Target, info drivers.HostInfo) string {
	if rt.Profile != resolve.ProfileAuto {
		return rt.Profile
	}
	return rt.Reg.DefaultProfile(info, rt.HostSpec.Options)
}

var (
	profMu   sync.Mutex
	profiles map[string]*suites.Profile
)

// profile loads a built-in profile with the plan's overrides laid over it.
func (r *runner) profile(name string) (*suites.Profile, error) {
	profMu.Lock()
	if profiles == nil {
		bp, err := suites.BuiltinProfiles()
		if err != nil {
			profMu.Unlock()
			return nil, err
		}
		profiles = bp
	}
	p := profiles[name]
	profMu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("no built-in profile %q", name)
	}
	if r.rr.ProfileOverrides != "" {
		o, err := suites.LoadProfileFile(r.rr.ProfileOverrides)
		if err != nil {
			return nil, err
		}
		p = p.Override(o)
	}
	return p, nil
}

// imageSHA256 hashes a local image, cached by path, size and mtime in
// $XDG_CACHE_HOME/virtcert/sha256.json (a 500 MB image takes seconds).
func imageSHA256(ctx context.Context, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("not a local file")
	}
	key := path + "|" + strconv.FormatInt(st.Size(), 10) + "|" + strconv.FormatInt(st.ModTime().UnixNano(), 10)
	cacheDir, _ := os.UserCacheDir()
	cacheFile := filepath.Join(cacheDir, "virtcert", "sha256.json")
	hashMu.Lock()
	defer hashMu.Unlock()
	cache := map[string]string{}
	if b, err := os.ReadFile(cacheFile); err == nil {
		_ = json.Unmarshal(b, &cache)
	}
	if s := cache[key]; s != "" {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	s := hex.EncodeToString(h.Sum(nil))
	cache[key] = s
	if b, err := json.Marshal(cache); err == nil && cacheDir != "" {
		_ = os.MkdirAll(filepath.Dir(cacheFile), 0o755)
		_ = os.WriteFile(cacheFile, b, 0o644)
	}
	return s, nil
}

var hashMu sync.Mutex

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

package parse

import (
	"encoding/json"
	"strconv"
	"strings"
)

// BlockDev is one row of lsblk, from -J (JSON) or -P (KEY="value" pairs).
// Column names are lsblk's, lower-cased; numbers arrive as strings or
// numbers depending on the util-linux version, so all are kept as text.
type BlockDev struct {
	Name     string
	Type     string // disk, part, rom, lvm, loop
	Size     string
	Fields   map[string]string
	Children []BlockDev
}

// Get returns column c (lower case: "tran", "disc-gran", "mountpoint").
func (b BlockDev) Get(c string) string { return b.Fields[strings.ToLower(c)] }

// Uint returns column c as a number (0 when absent or not a plain number;
// use lsblk -b for bytes).
func (b BlockDev) Uint(c string) uint64 {
	n, _ := strconv.ParseUint(b.Get(c), 10, 64)
	return n
}

// LsblkJSON parses `lsblk -J`. Nested children (partitions) are kept.
func LsblkJSON(out string) ([]BlockDev, error) {
	var doc struct {
		Blockdevices []map[string]any `json:"blockdevices"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, err
	}
	return convBlock(doc.Blockdevices, 0), nil
}

func convBlock(in []map[string]any, depth int) []BlockDev {
	if depth > 16 {
		return nil
	}
	var out []BlockDev
	for _, m := range in {
		b := BlockDev{Fields: map[string]string{}}
		for k, v := range m {
			k = strings.ToLower(k)
			switch x := v.(type) {
			case string:
				b.Fields[k] = x
			case float64:
				b.Fields[k] = strconv.FormatFloat(x, 'f', -1, 64)
			case bool:
				b.Fields[k] = strconv.FormatBool(x)
			case []any:
				if k == "children" {
					var kids []map[string]any
					for _, c := range x {
						if cm, ok := c.(map[string]any); ok {
							kids = append(kids, cm)
						}
					}
					b.Children = convBlock(kids, depth+1)
				} else if k == "mountpoints" {
					var mps []string
					for _, c := range x {
						if s, ok := c.(string); ok {
							mps = append(mps, s)
						}
					}
					b.Fields[k] = strings.Join(mps, ",")
				}
			}
		}
		b.Name, b.Type, b.Size = b.Fields["name"], b.Fields["type"], b.Fields["size"]
		out = append(out, b)
	}
	return out
}

// LsblkPairs parses `lsblk -P` (and -P -b): one device per line as
// KEY="value" pairs, values escaped with \xNN. Devices come out flat.
func LsblkPairs(out string) []BlockDev {
	var devs []BlockDev
	for _, l := range strings.Split(out, "\n") {
		f := pairs(l)
		if len(f) == 0 {
			continue
		}
		b := BlockDev{Fields: f, Name: f["name"], Type: f["type"], Size: f["size"]}
		devs = append(devs, b)
	}
	return devs
}

func pairs(l string) map[string]string {
	m := map[string]string{}
	for {
		l = strings.TrimLeft(l, " \t")
		eq := strings.Index(l, `="`)
		if eq <= 0 {
			return m
		}
		key := strings.ToLower(l[:eq])
		if strings.ContainsAny(key, " \t\"") {
			return m
		}
		rest := l[eq+2:]
		end := strings.IndexByte(rest, '"')
		if end < 0 {
			return m
		}
		m[key] = unescapeHex(rest[:end])
		l = rest[end+1:]
	}
}

// unescapeHex undoes lsblk's \xNN escaping of unsafe characters.
func unescapeHex(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && s[i+1] == 'x' {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Flatten returns devs and all their children, depth first.
func Flatten(devs []BlockDev) []BlockDev {
	var out []BlockDev
	for _, d := range devs {
		out = append(out, d)
		out = append(out, Flatten(d.Children)...)
	}
	return out
}

package contact

import "testing"

// FuzzHandle: a handle that normalises is stable (normalising again changes
// nothing) and maps to at most one participant id.
func FuzzHandle(f *testing.F) {
	for _, s := range [][2]string{{"phone", "+62 812-3456-7890"}, {"email", "Budi@Example.com"}, {"whatsapp", "+15550001"},
		{"identity", "8:acs:t_1"}, {"external", "crm-42"}, {"fax", "1"}, {"email", "a@b@c"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, kind, value string) {
		n, err := Handle{Kind: kind, Value: value}.Normalize()
		if err != nil {
			return
		}
		again, err := n.Normalize()
		if err != nil || again != n {
			t.Fatalf("%+v normalised to %+v, then %+v (%v)", Handle{kind, value}, n, again, err)
		}
	})
}

package identity

import "time"

// Seams for the tests of this package: the clocks the services read, and
// the token request check the Identity API applies.

func SetPeopleClock(p *People, now func() time.Time)   { p.now = now }
func SetServiceClock(s *Service, now func() time.Time) { s.now = now }
func SetKeyRingClock(kr *KeyRing, now func() time.Time) {
	kr.mu.Lock()
	kr.now = now
	kr.mu.Unlock()
}

func ValidateTokenRequest(r TokenRequest) ([]Scope, time.Duration, error) { return r.validate() }

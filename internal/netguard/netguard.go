// Package netguard is the one HTTP client for URLs a tenant supplies
// (webhooks, bots, rule functions, media to play). It refuses loopback,
// private, link-local and metadata addresses unless the operator allows
// them, so a tenant cannot use the server to reach the operator's network.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Config says which address ranges outbound requests may reach.
type Config struct {
	AllowLoopback bool
	AllowPrivate  bool
	Timeout       time.Duration
}

// ErrRefused is returned when a URL resolves to a refused address.
var ErrRefused = errors.New("netguard: destination address is not allowed")

// Allowed reports whether addr may be dialled under cfg.
func (c Config) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return c.AllowLoopback
	case addr.IsPrivate(), addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast(), addr.IsUnspecified(), addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return c.AllowPrivate
	}
	// 100.64.0.0/10 (carrier NAT) and 169.254.169.254-style metadata sit in
	// ranges IsPrivate does not cover.
	if cgnat.Contains(addr) {
		return c.AllowPrivate
	}
	return true
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Client returns an http.Client whose every connection, redirects included,
// is checked after name resolution.
func (c Config) Client() *http.Client {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrRefused, address)
			}
			if !c.Allowed(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrRefused, ap.Addr())
			}
			return nil
		},
	}
	tr := &http.Transport{
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return dialer.DialContext(ctx, n, a) },
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("netguard: too many redirects")
			}
			return nil
		},
	}
}

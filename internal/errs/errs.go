// Package errs defines the error kinds every Switchboard package uses and the
// stable codes clients see. Transports map kinds to their own status space
// exactly once (HTTP in api, SIP in voice/sip, close codes in realtime).
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies a failure by what the caller can do about it.
type Kind uint8

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindPreconditionFailed
	KindTooLarge
	KindRateLimited
	KindUnavailable
	KindMethodNotAllowed
	KindUnsupportedMedia
)

var kindNames = [...]string{"internal", "invalid", "unauthenticated", "forbidden", "not found", "conflict", "precondition failed", "too large", "rate limited", "unavailable", "method not allowed", "unsupported media type"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error lets a bare Kind be used as an errors.Is target: errors.Is(err, errs.KindNotFound).
func (k Kind) Error() string { return k.String() }

// Error is a failure with a kind, a stable machine-readable code and a
// message safe to show to the caller. Err, if set, is the cause and is never
// shown to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Target  string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code, or a Kind by kind.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Kind:
		return e.Kind == t
	case *Error:
		return t.Code != "" && t.Code == e.Code
	}
	return false
}

// New makes an error of the given kind and code.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap makes an error of the given kind that keeps err as its cause.
func Wrap(err error, kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// WithTarget returns a copy of e naming the offending field or parameter.
func (e *Error) WithTarget(target string) *Error {
	c := *e
	c.Target = target
	return &c
}

// KindOf reports the kind of err, KindInternal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return KindInternal
}

// As returns the *Error in err's chain, or an internal error hiding err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var k Kind
	if errors.As(err, &k) {
		return &Error{Kind: k, Code: codeForKind(k), Message: k.String(), Err: err}
	}
	return &Error{Kind: KindInternal, Code: "InternalError", Message: "An internal error occurred.", Err: err}
}

func codeForKind(k Kind) string {
	switch k {
	case KindInvalid:
		return "BadRequest"
	case KindUnauthenticated:
		return "Unauthorized"
	case KindForbidden:
		return "Forbidden"
	case KindNotFound:
		return "NotFound"
	case KindConflict:
		return "Conflict"
	case KindPreconditionFailed:
		return "PreconditionFailed"
	case KindTooLarge:
		return "RequestEntityTooLarge"
	case KindRateLimited:
		return "TooManyRequests"
	case KindUnavailable:
		return "ServiceUnavailable"
	case KindMethodNotAllowed:
		return "MethodNotAllowed"
	case KindUnsupportedMedia:
		return "UnsupportedMediaType"
	}
	return "InternalError"
}

// Shorthands for the common kinds; the code defaults to the kind's code.
func NotFound(format string, args ...any) *Error {
	return New(KindNotFound, "NotFound", format, args...)
}

func Invalid(code, format string, args ...any) *Error {
	return New(KindInvalid, code, format, args...)
}

func Forbidden(format string, args ...any) *Error {
	return New(KindForbidden, "Forbidden", format, args...)
}

func Conflict(code, format string, args ...any) *Error {
	return New(KindConflict, code, format, args...)
}

func Unauthenticated(code, format string, args ...any) *Error {
	return New(KindUnauthenticated, code, format, args...)
}

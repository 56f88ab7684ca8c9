package routing

import "fmt"

// LabelOperator compares a label with a selector's value.
type LabelOperator string

// The operators of ACS label selectors.
const (
	Equal              LabelOperator = "equal"
	NotEqual           LabelOperator = "notEqual"
	LessThan           LabelOperator = "lessThan"
	LessThanOrEqual    LabelOperator = "lessThanOrEqual"
	GreaterThan        LabelOperator = "greaterThan"
	GreaterThanOrEqual LabelOperator = "greaterThanOrEqual"
)

// Selector is a queue or worker selector: key, operator, value.
type Selector struct {
	Key           string        `json:"key"`
	LabelOperator LabelOperator `json:"labelOperator"`
	Value         any           `json:"value"`
}

// Validate checks the selector's form.
func (s Selector) Validate() error {
	if s.Key == "" {
		return invalid("key", "a selector needs a key")
	}
	switch s.LabelOperator {
	case Equal, NotEqual:
	case LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual:
		if _, ok := s.Value.(float64); !ok {
			return invalid("value", "%s compares numbers; the value of %q is %T", s.LabelOperator, s.Key, s.Value)
		}
	default:
		return invalid("labelOperator", "labelOperator must be equal, notEqual, lessThan, lessThanOrEqual, greaterThan or greaterThanOrEqual")
	}
	switch s.Value.(type) {
	case string, float64, bool:
	default:
		return invalid("value", "selector values are strings, numbers or booleans")
	}
	return nil
}

// Matches reports whether labels satisfy the selector. A missing label
// satisfies only notEqual; ordering operators need a number on both sides.
func (s Selector) Matches(labels map[string]any) bool {
	v, ok := labels[s.Key]
	if !ok {
		return s.LabelOperator == NotEqual
	}
	switch s.LabelOperator {
	case Equal:
		return same(v, s.Value)
	case NotEqual:
		return !same(v, s.Value)
	}
	a, aok := v.(float64)
	b, bok := s.Value.(float64)
	if !aok || !bok {
		return false
	}
	switch s.LabelOperator {
	case LessThan:
		return a < b
	case LessThanOrEqual:
		return a <= b
	case GreaterThan:
		return a > b
	case GreaterThanOrEqual:
		return a >= b
	}
	return false
}

// same compares label values of JSON types; numbers by value.
func same(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// MatchesAll reports whether labels satisfy every selector.
func MatchesAll(selectors []Selector, labels map[string]any) bool {
	for _, s := range selectors {
		if !s.Matches(labels) {
			return false
		}
	}
	return true
}

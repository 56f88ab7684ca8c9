package bot

// ParseActivities reads what a bot posts through the API later (one
// activity, an array, or {"activities": […]}), with the same checks as
// an answer: a malformed body matches ErrMalformed.
func ParseActivities(body []byte) ([]Activity, error) {
	if len(body) > maxAnswer {
		return nil, malformed("activities are over 256 KiB")
	}
	acts, err := parseAnswer(body)
	if err == nil && len(acts) == 0 {
		return nil, malformed("no activity")
	}
	return acts, err
}

package routing

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types/ref"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Router rules compute a value from a job's labels: a constant (static),
// the labels themselves (directMap), or an expression. ACS writes
// expressions in PowerFx; Switchboard evaluates them with CEL, a small,
// side-effect-free language with bounded cost, and accepts the PowerFx
// that routing rules use by translating it (docs/api.md lists the mapping).
// An expression sees the job's labels as `job` (job.Urgent, job["Lang"]).

// programs caches compiled expressions by language and text, up to a
// bound (tenants write expressions; the cache must not grow without end).
var (
	programs      sync.Map // string → cel.Program
	programsCount atomic.Int64
)

const maxCachedPrograms = 4096

var celEnv = func() *cel.Env {
	// worker is bound only when a bestWorker scoring rule runs.
	env, err := cel.NewEnv(cel.Variable("job", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("worker", cel.MapType(cel.StringType, cel.DynType)), cel.CrossTypeNumericComparisons(true))
	if err != nil {
		panic(err)
	}
	return env
}()

// costLimit bounds an expression's work, so no rule can stall the router.
const costLimit = 10000

func compile(language, expr string) (cel.Program, error) {
	key := language + "\x00" + expr
	if p, ok := programs.Load(key); ok {
		return p.(cel.Program), nil
	}
	src := expr
	switch strings.ToLower(language) {
	case "cel":
	case "powerfx", "":
		var err error
		if src, err = PowerFxToCEL(expr); err != nil {
			return nil, err
		}
	default:
		return nil, errs.Invalid("InvalidExpression", "expression language must be powerFx or cel")
	}
	ast, iss := celEnv.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, errs.Invalid("InvalidExpression", "the expression does not compile: %v", iss.Err())
	}
	p, err := celEnv.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return nil, errs.Invalid("InvalidExpression", "the expression cannot run: %v", err)
	}
	if programsCount.Load() < maxCachedPrograms {
		if _, loaded := programs.LoadOrStore(key, p); !loaded {
			programsCount.Add(1)
		}
	}
	return p, nil
}

// EvaluateRule computes a static, directMap or expression rule over a
// job's labels. Function and webhook rules call out over HTTP and are the
// engine's to run.
func EvaluateRule(rule map[string]any, labels map[string]any) (any, error) {
	switch rule["kind"] {
	case "static":
		return rule["value"], nil
	case "directMap":
		return labels, nil
	case "expression":
		expr, _ := rule["expression"].(string)
		lang, _ := rule["language"].(string)
		p, err := compile(lang, expr)
		if err != nil {
			return nil, err
		}
		if labels == nil {
			labels = map[string]any{}
		}
		out, _, err := p.Eval(map[string]any{"job": labels})
		if err != nil {
			return nil, fmt.Errorf("routing: expression: %w", err)
		}
		return native(out), nil
	case "function", "webhook":
		// Called over HTTP before the router runs (never under its lock);
		// the answer travels inside the rule.
		if v, ok := rule[resolvedKey]; ok {
			return v, nil
		}
		msg, _ := rule[failedKey].(string)
		if msg == "" {
			msg = "not called"
		}
		return nil, fmt.Errorf("%w: %s", ErrRemoteRule, msg)
	}
	return nil, fmt.Errorf("routing: unknown rule kind %v", rule["kind"])
}

// EvaluateScore runs a bestWorker scoring rule for one worker: static, or
// an expression over `job` and `worker` labels. ok is false when the rule
// cannot score here (function and webhook scoring rules are not called
// under the router's lock); the default score then applies.
func EvaluateScore(rule map[string]any, jobLabels, workerLabels map[string]any) (score float64, ok bool) {
	switch rule["kind"] {
	case "static":
		v, ok := rule["value"].(float64)
		return v, ok
	case "expression":
		expr, _ := rule["expression"].(string)
		lang, _ := rule["language"].(string)
		p, err := compile(lang, expr)
		if err != nil {
			return 0, false
		}
		if jobLabels == nil {
			jobLabels = map[string]any{}
		}
		if workerLabels == nil {
			workerLabels = map[string]any{}
		}
		out, _, err := p.Eval(map[string]any{"job": jobLabels, "worker": workerLabels})
		if err != nil {
			return 0, false
		}
		v, ok := native(out).(float64)
		return v, ok
	}
	return 0, false
}

// ErrRemoteRule is a function or webhook rule that gave no answer; the
// router falls back (the fallback queue, the job's own priority, no extra
// worker selectors) instead of failing the job.
var ErrRemoteRule = errors.New("routing: remote rule failed")

// Keys under which a remote rule's answer (or failure) is attached to a
// copy of its rule; no JSON document can hold them.
const (
	resolvedKey = "\x00resolved"
	failedKey   = "\x00failed"
)

func native(v ref.Val) any {
	switch x := v.Value().(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	default:
		return x
	}
}

// checkRule validates a rule document, compiling expressions.
func checkRule(r any, target string) error {
	m, ok := r.(map[string]any)
	if !ok {
		return invalid(target, "%s must be a rule object", target)
	}
	switch m["kind"] {
	case "static", "directMap":
		return nil
	case "expression":
		expr, _ := m["expression"].(string)
		lang, _ := m["language"].(string)
		if strings.TrimSpace(expr) == "" {
			return invalid(target+".expression", "an expression rule needs an expression")
		}
		if _, err := compile(lang, expr); err != nil {
			return errs.As(err).WithTarget(target + ".expression")
		}
		return nil
	case "function":
		if u, _ := m["functionUri"].(string); u == "" {
			return invalid(target+".functionUri", "a function rule needs a functionUri")
		}
		return nil
	case "webhook":
		if u, _ := m["webhookUri"].(string); u == "" {
			return invalid(target+".webhookUri", "a webhook rule needs a webhookUri")
		}
		return nil
	}
	return invalid(target+".kind", "rule kind must be static, directMap, expression, function or webhook")
}

// PowerFxToCEL translates the PowerFx subset routing rules use into CEL:
// `=` and `<>` become `==` and `!=`; `If(c, a, b)` becomes `(c ? a : b)`;
// `And(a, b)`, `Or(a, b)`, `Not(a)` become `&&`, `||`, `!`; `&&`, `||`, `!`,
// `true`, `false`, numbers, "strings" and `job.Label` stay as they are.
func PowerFxToCEL(src string) (string, error) {
	toks, err := tokenize(src)
	if err != nil {
		return "", err
	}
	p := &fxParser{toks: toks}
	out, err := p.expr()
	if err != nil {
		return "", err
	}
	if p.pos != len(p.toks) {
		return "", errs.Invalid("InvalidExpression", "unexpected %q in the expression", p.toks[p.pos])
	}
	return out, nil
}

func tokenize(src string) ([]string, error) {
	var toks []string
	for i := 0; i < len(src); {
		c := rune(src[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, errs.Invalid("InvalidExpression", "a string is not closed")
			}
			toks = append(toks, src[i:j+1])
			i = j + 1
		case unicode.IsLetter(c) || c == '_' || unicode.IsDigit(c):
			j := i
			for j < len(src) && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])) || src[j] == '_' || src[j] == '.') {
				j++
			}
			toks = append(toks, src[i:j])
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<>", "<=", ">=", "&&", "||", "==", "!=":
				toks = append(toks, two)
				i += 2
				continue
			}
			if !strings.ContainsRune("()=<>!,+-*/[]", c) {
				return nil, errs.Invalid("InvalidExpression", "unexpected character %q", c)
			}
			toks = append(toks, string(c))
			i++
		}
	}
	return toks, nil
}

// fxParser rewrites function calls; everything else passes through with
// the operators renamed.
type fxParser struct {
	toks []string
	pos  int
}

func (p *fxParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

// expr reads tokens until a ',' or ')' at this nesting level.
func (p *fxParser) expr() (string, error) {
	var b strings.Builder
	for p.pos < len(p.toks) {
		t := p.peek()
		if t == "," || t == ")" {
			break
		}
		p.pos++
		switch {
		case t == "(":
			inner, err := p.expr()
			if err != nil {
				return "", err
			}
			if p.peek() != ")" {
				return "", errs.Invalid("InvalidExpression", "a parenthesis is not closed")
			}
			p.pos++
			b.WriteString("(" + inner + ")")
		case p.peek() == "(" && (t == "If" || t == "And" || t == "Or" || t == "Not"):
			p.pos++
			var args []string
			for {
				a, err := p.expr()
				if err != nil {
					return "", err
				}
				args = append(args, a)
				if p.peek() == "," {
					p.pos++
					continue
				}
				if p.peek() != ")" {
					return "", errs.Invalid("InvalidExpression", "%s( is not closed", t)
				}
				p.pos++
				break
			}
			s, err := call(t, args)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case t == "=":
			b.WriteString(" == ")
		case t == "<>":
			b.WriteString(" != ")
		case isLabelRef(t) && p.peek() != "[":
			// A label the job (or worker) lacks is blank in PowerFx: null
			// here, so that `job.Vip = true` is false rather than an error.
			b.WriteString(" (has(" + t + ") ? " + t + " : null) ")
		case strings.Trim(t, "0123456789") == "":
			// PowerFx has one number type and labels are doubles: an
			// integer literal must be one too, or `worker.Csat * 10` has
			// no overload in CEL.
			b.WriteString(" " + t + ".0 ")
		default:
			b.WriteString(" " + t + " ")
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// isLabelRef reports whether a token names a label: job.X or worker.X.
func isLabelRef(t string) bool {
	for _, root := range []string{"job.", "worker."} {
		if rest, ok := strings.CutPrefix(t, root); ok && rest != "" && !strings.Contains(rest, ".") {
			return true
		}
	}
	return false
}

func call(fn string, args []string) (string, error) {
	switch fn {
	case "If":
		if len(args) != 3 {
			return "", errs.Invalid("InvalidExpression", "If takes a condition, a value and an else value")
		}
		return "(" + args[0] + " ? " + args[1] + " : " + args[2] + ")", nil
	case "Not":
		if len(args) != 1 {
			return "", errs.Invalid("InvalidExpression", "Not takes one argument")
		}
		return "!(" + args[0] + ")", nil
	}
	if len(args) < 2 {
		return "", errs.Invalid("InvalidExpression", "%s takes at least two arguments", fn)
	}
	op := " && "
	if fn == "Or" {
		op = " || "
	}
	return "(" + strings.Join(args, op) + ")", nil
}

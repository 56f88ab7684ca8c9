package flow

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMatchLargestFlow: a message of 400 near-miss words against a
// flow filled to MaxSize with examples of near-miss words, the most
// matching work one message can cause (about 25 ms on a 2-core EPYC VM;
// before words were remembered per message and compared in linear time,
// 6.6 s).
func BenchmarkMatchLargestFlow(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nlocale: en\nstart: m\nsteps:\n  m:\n    intents:\n")
	for i := 0; sb.Len() < MaxSize-2000; i++ {
		fmt.Fprintf(&sb, "      i%d:\n        say: x\n        examples: [", i)
		for j := range 20 {
			fmt.Fprintf(&sb, "abcde%c%c abcdf%c%c, ", 'a'+i%26, 'a'+j%26, 'a'+j%26, 'a'+i%26)
		}
		sb.WriteString("z]\n")
	}
	f := mustParse(b, sb.String())
	var msg strings.Builder
	for j := range 400 {
		fmt.Fprintf(&msg, "abcdx%c%c ", 'a'+j%26, 'a'+(j/26)%26)
	}
	st, _ := f.Step(State{}, Input{Kind: Start})
	in := Input{Kind: Message, Text: msg.String()}
	for b.Loop() {
		f.Step(st, in)
	}
}

func BenchmarkParseDemo(b *testing.B) {
	src := Demo("en")
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

package flow

// defaultMessages are said when a flow does not say otherwise, so that a
// minimal flow still talks to the customer in their language.
var defaultMessages = map[string]struct{ miss, handoff string }{
	"en": {
		miss:    "Sorry, I didn't understand that. Could you put it another way?",
		handoff: "I'm passing you to a person from our team. Please stay in the chat.",
	},
	"id": {
		miss:    "Maaf, saya belum mengerti. Bisa dijelaskan dengan kata lain?",
		handoff: "Saya sambungkan Anda dengan tim kami. Mohon tetap di obrolan ini, ya.",
	},
}

// retries are said when an answer is refused and the ask step has no retry.
var retries = map[string]map[fieldType]string{
	"en": {
		fieldText:  "Sorry, I need an answer to go on. Could you try again?",
		fieldName:  "Sorry, that doesn't look like a name. What should I call you?",
		fieldEmail: "That doesn't look like an e-mail address (like ana@example.com). Could you check it?",
		fieldPhone: "That doesn't look like a phone number. Could you send it with its area code?",
		fieldOrder: "That doesn't look like an order number. You'll find it in your order confirmation.",
		fieldRegex: "Sorry, that isn't in the form I need. Could you check it and try again?",
	},
	"id": {
		fieldText:  "Maaf, saya perlu jawaban untuk melanjutkan. Bisa dicoba lagi?",
		fieldName:  "Maaf, sepertinya itu bukan nama. Boleh saya panggil siapa?",
		fieldEmail: "Sepertinya itu bukan alamat e-mail (contoh: budi@contoh.com). Boleh dicek lagi?",
		fieldPhone: "Sepertinya itu bukan nomor telepon. Boleh dikirim lengkap dengan kode areanya?",
		fieldOrder: "Sepertinya itu bukan nomor pesanan. Nomornya ada di e-mail konfirmasi pesanan.",
		fieldRegex: "Maaf, formatnya belum sesuai. Boleh dicek dan dicoba lagi?",
	},
}

func defaultRetry(locale string, t fieldType) string { return retries[locale][t] }

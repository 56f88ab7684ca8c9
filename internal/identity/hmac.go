package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// EmptyContentHash is base64(SHA-256("")), what the SDKs send for no body.
const EmptyContentHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

// StringToSign is the ACS canonical request: the verb, the path and query
// exactly as sent (still percent-encoded), then date;host;content-hash.
func StringToSign(method, pathAndQuery, date, host, contentHash string) string {
	return method + "\n" + pathAndQuery + "\n" + date + ";" + host + ";" + contentHash
}

// Sign computes the base64 HMAC-SHA256 signature of stringToSign with key.
func Sign(key []byte, stringToSign string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignature compares in constant time.
func VerifySignature(key []byte, stringToSign, signature string) bool {
	want, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return hmac.Equal(m.Sum(nil), want)
}

// ContentHash is base64(SHA-256(body)).
func ContentHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

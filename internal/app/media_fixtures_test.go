package app_test

import "encoding/base64"

// Real files for the sends that are converted: a 512x512 WebP sticker
// (sent as it is) and 0.2 s of Opus in OGG (sent as it is without ffmpeg,
// converted with it).
var (
	webpSticker, _ = base64.StdEncoding.DecodeString("UklGRiwAAABXRUJQVlA4TCAAAAAv/8F/AAcQ9Y/+BwQCyf7eMxTR/4z//Oc///nPf/7zfw==")
	oggVoice, _    = base64.StdEncoding.DecodeString("T2dnUwACAAAAAAAAAAAeskYHAAAAAOHP1CcBE09wdXNIZWFkAQE4AYC7AAAAAABPZ2dTAAAAAAAAAAAAAB6yRgcBAAAAEgL8FAE+T3B1c1RhZ3MNAAAATGF2ZjU5LjI3LjEwMAEAAAAdAAAAZW5jb2Rlcj1MYXZjNTkuMzcuMTAwIGxpYm9wdXNPZ2dTAAS4JgAAAAAAAB6yRgcCAAAAyPb7QQsXFxESExAQFBITFQiC4jRFRViat+CIYZ6h6NaH6eEDslqgCKNA6AM8NKIzSXGtsrmd44YAkSi2hlAInVXw5F373AQqhHdzHL1k+AidX7B3MqpXPgECbRazmSkPDAidX7B3MqpeWCLnpbuPIDqJ0YAInXOgPermm7Ec2+SopvLNCJ1fsHcyqlwzV0UD7BsfXQidAEzyCcV/MT1aBN+ri2aSiUeMCJyQK+NOWngd7AD8Gfd0vrJUCJyQK+NOWn4N46bj4WGLF1oQoAiDD5kP3R8hYR5/fVdX2CFi2TNv+A==")
)

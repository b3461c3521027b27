// Package webhook delivers wagate's events to the partners' and channels'
// webhooks from the durable outbox in the store (see store.Enqueue), at
// least once, in order per webhook and chat, with retries that survive
// restarts.
//
// # Requests
//
// Each delivery is one HTTP request whose body is the event's JSON payload.
// The webhook's mode picks the method and URL (Whapi's WebhookParameters):
//
//   - body (the default): POST to the URL as configured;
//   - path: POST to the URL with "/<type>/<method>" appended, for example
//     https://example.com/hook/messages/post;
//   - method: the event's method (POST, PUT, PATCH or DELETE) to the URL
//     with "/<type>" appended, for example PATCH https://example.com/hook/messages.
//
// The URL's query string is kept. Every request carries these headers (the
// webhook's own headers are added but cannot replace the X-Wagate ones):
//
//	Content-Type: application/json
//	User-Agent: wagate-webhook/1
//	X-Wagate-Delivery: whd_...        stable across retries: drop duplicates by it
//	X-Wagate-Event: messages.post     "<type>.<method>"
//	X-Wagate-Signature: t=1767225600,v1=5257a869...   only when the webhook has a secret
//
// A 2xx answer is success. Anything else (other statuses, redirects, which
// are not followed, timeouts and connection errors) is retried after a delay
// that starts at the channel's callback_backoff_delay_ms (3 s by default),
// doubles with each attempt up to max_callback_backoff_delay_ms (15 min by
// default) and is shortened by up to a quarter at random. Retries go on
// across restarts; when webhook_max_age_seconds is set, an event that could
// not be delivered within that age is dropped and the drop is shown in the
// delivery log. The answer's body is read up to a bound and discarded.
//
// Deliveries to one webhook about the same chat go out one at a time, in the
// order the events happened: a failing one holds back those behind it.
// Different chats, and different webhooks, do not wait for each other, and a
// slow or dead receiver only ever holds a bounded number of workers.
//
// # Verifying signatures
//
// When a webhook has a secret, X-Wagate-Signature carries the time of
// signing t (Unix seconds) and v1, the lower-case hex HMAC-SHA256, keyed
// with the secret, of the string "<t>.<raw body>": t in decimal, a dot, then
// the request body exactly as received, before any JSON parsing. A receiver
// recomputes v1 from the raw body, compares in constant time, and rejects a
// t too far from its own clock (five minutes is usual) so a captured
// request cannot be replayed later. The header may carry several v1 values
// (t=...,v1=...,v1=...); one matching is enough. In Go:
//
//	body, _ := io.ReadAll(r.Body)
//	err := webhook.Verify(secret, r.Header.Get("X-Wagate-Signature"), body, time.Now(), 5*time.Minute)
//
// and in any language:
//
//	mac = HMAC_SHA256(key = secret, message = t + "." + body)
//	valid = constant_time_equal(hex(mac), v1) and abs(now - t) <= 300
//
// # Addresses
//
// Requests are refused at dial time when the address a URL resolves to is
// private, loopback, link-local, CGNAT or otherwise not public, unless the
// operator allows it (WAGATE_WEBHOOK_ALLOW_PRIVATE=true); the check is on the
// dialed IP, so DNS cannot point around it. TLS certificates are always
// verified. Environment proxies are not used.
package webhook

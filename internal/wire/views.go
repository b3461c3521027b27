package wire

// StatusCode is a message status's code in the gate API (its rank); 0 for
// an unknown status.
func StatusCode(status string) int {
	c, _ := statusCode(status)
	return c
}

//go:build !unix

package sweep

// RaiseFileLimit has no limit to raise here; 1024 is a safe assumption.
func RaiseFileLimit() (uint64, error) { return 1024, nil }

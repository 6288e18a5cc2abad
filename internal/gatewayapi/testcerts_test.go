package gatewayapi

import (
	"testing"

	"github.com/drawbridge-dev/drawbridge/internal/testutil"
)

func selfSignedPEM(t *testing.T, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := testutil.SelfSignedPEM(host)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

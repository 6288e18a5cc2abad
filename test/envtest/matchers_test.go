package envtest

import "github.com/onsi/gomega/types"

// OmegaMatcherAlias keeps helper signatures short.
type OmegaMatcherAlias = types.GomegaMatcher

package envtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Every golden output of `drawbridge convert` must pass the API server's
// admission: the Gateway API and Drawbridge CRD schemas and their CEL
// rules. Objects are created with dry-run, so the suite's controllers never
// see them.
var _ = Describe("drawbridge convert outputs pass admission", func() {
	ctx := context.Background()
	It("accepts every object of every golden case", func() {
		outs, err := filepath.Glob(filepath.Join(repoRoot(), "internal/convert/testdata/*.out.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(outs).NotTo(BeEmpty())
		sort.Strings(outs)
		checked := 0
		ns := unique("converted")
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		for _, out := range outs {
			data, err := os.ReadFile(out)
			Expect(err).NotTo(HaveOccurred())
			reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
			for {
				raw, err := reader.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{}
				Expect(utilyaml.Unmarshal(raw, &u.Object)).To(Succeed())
				if len(u.Object) == 0 {
					continue
				}
				if u.GetNamespace() != "" {
					// Admission does not depend on the namespace; one
					// namespace keeps the suite's watches quiet.
					u.SetNamespace(ns)
				}
				Expect(k8s.Create(ctx, u, client.DryRunAll)).To(Succeed(), "%s: %s %s/%s", filepath.Base(out), u.GetKind(), u.GetNamespace(), u.GetName())
				checked++
			}
		}
		AddReportEntry("converted objects admitted", checked)
	})
})

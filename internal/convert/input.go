package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Input is every object read from the user's manifests that conversion
// looks at, in the order read.
type Input struct {
	Ingresses          []netv1.Ingress
	IngressClasses     []netv1.IngressClass
	Services           []corev1.Service
	Secrets            []corev1.Secret
	KongPlugins        []KICPlugin
	KongClusterPlugins []KICPlugin
	KongConsumers      []KICConsumer
	KongConsumerGroups []Meta
	KongIngresses      []KICKongIngress
	TCPIngresses       []KICStreamIngress
	UDPIngresses       []KICStreamIngress
	// Ignored names documents of kinds conversion does not read.
	Ignored []string
}

// Meta is an object known only by its name.
type Meta struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
}

// KICPlugin is KIC's configuration.konghq.com/v1 KongPlugin or
// KongClusterPlugin: its fields sit at the top level, not under spec.
type KICPlugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	PluginName    string                `json:"plugin"`
	Config        *apiextensionsv1.JSON `json:"config,omitempty"`
	ConfigFrom    *KICConfigSource      `json:"configFrom,omitempty"`
	ConfigPatches []json.RawMessage     `json:"configPatches,omitempty"`
	Disabled      bool                  `json:"disabled,omitempty"`
	Protocols     []string              `json:"protocols,omitempty"`
	Ordering      json.RawMessage       `json:"ordering,omitempty"`
	ConsumerRef   string                `json:"consumerRef,omitempty"`
	InstanceName  string                `json:"instance_name,omitempty"`
	RunOn         string                `json:"run_on,omitempty"`
}

// KICConfigSource is KIC's configFrom: the whole plugin configuration as
// the value of one Secret key (a KongClusterPlugin's names a namespace).
type KICConfigSource struct {
	SecretKeyRef struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
		Key       string `json:"key"`
	} `json:"secretKeyRef"`
}

// KICConsumer is KIC's configuration.konghq.com/v1 KongConsumer.
type KICConsumer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Username       string   `json:"username,omitempty"`
	CustomID       string   `json:"custom_id,omitempty"`
	Credentials    []string `json:"credentials,omitempty"`
	ConsumerGroups []string `json:"consumerGroups,omitempty"`
}

// KICKongIngress is KIC's deprecated KongIngress: overrides of the Kong
// route, service ("proxy") and upstream generated for an Ingress or
// Service that names it in konghq.com/override.
type KICKongIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Route    map[string]json.RawMessage `json:"route,omitempty"`
	Proxy    map[string]json.RawMessage `json:"proxy,omitempty"`
	Upstream map[string]json.RawMessage `json:"upstream,omitempty"`
}

// KICStreamIngress is KIC's v1beta1 TCPIngress or UDPIngress.
type KICStreamIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec struct {
		Rules []struct {
			Host    string `json:"host,omitempty"`
			Port    int32  `json:"port"`
			Backend struct {
				ServiceName string `json:"serviceName"`
				ServicePort int32  `json:"servicePort"`
			} `json:"backend"`
		} `json:"rules,omitempty"`
		TLS []struct {
			Hosts      []string `json:"hosts,omitempty"`
			SecretName string   `json:"secretName,omitempty"`
		} `json:"tls,omitempty"`
	} `json:"spec"`
}

// maxDocuments bounds what one input may hold, so a hostile stream cannot
// make conversion run for ever.
const maxDocuments = 100000

// Read reads a multi-document YAML (or JSON) stream into in. file names
// the stream in errors.
func (in *Input) Read(file string, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return in.ReadBytes(file, data)
}

// ReadBytes is Read for a stream already in memory.
func (in *Input) ReadBytes(file string, data []byte) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if doc > maxDocuments {
			return fmt.Errorf("%s: more than %d documents", file, maxDocuments)
		}
		if err := in.readDocument(fmt.Sprintf("%s: document %d", file, doc), raw, 0); err != nil {
			return err
		}
	}
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func (in *Input) readDocument(where string, raw []byte, depth int) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("%s: not a Kubernetes object (a YAML mapping with apiVersion and kind)", where)
	}
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return fmt.Errorf("%s: the object has no apiVersion or kind", where)
	}
	if tm.Metadata.Namespace == "" {
		where = fmt.Sprintf("%s (%s %s)", where, tm.Kind, tm.Metadata.Name)
	} else {
		where = fmt.Sprintf("%s (%s %s/%s)", where, tm.Kind, tm.Metadata.Namespace, tm.Metadata.Name)
	}
	group, _, _ := strings.Cut(tm.APIVersion, "/")
	if !strings.Contains(tm.APIVersion, "/") {
		group = ""
	}
	decode := func(v any) error {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}
	switch {
	case tm.Kind == "List" && group == "":
		if depth > 0 {
			return fmt.Errorf("%s: a List inside a List", where)
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := decode(&list); err != nil {
			return err
		}
		for i, item := range list.Items {
			if err := in.readDocument(fmt.Sprintf("%s: item %d", where, i+1), item, depth+1); err != nil {
				return err
			}
		}
		return nil
	case group == "networking.k8s.io" && tm.Kind == "Ingress":
		if tm.APIVersion != "networking.k8s.io/v1" {
			return fmt.Errorf("%s: Ingress %s is not read; convert it to networking.k8s.io/v1 first (kubectl get -o yaml serves v1)", where, tm.APIVersion)
		}
		var v netv1.Ingress
		if err := decode(&v); err != nil {
			return err
		}
		defaultNamespace(&v.ObjectMeta)
		in.Ingresses = append(in.Ingresses, v)
	case group == "networking.k8s.io" && tm.Kind == "IngressClass":
		var v netv1.IngressClass
		if err := decode(&v); err != nil {
			return err
		}
		in.IngressClasses = append(in.IngressClasses, v)
	case group == "" && tm.Kind == "Service":
		var v corev1.Service
		if err := decode(&v); err != nil {
			return err
		}
		defaultNamespace(&v.ObjectMeta)
		in.Services = append(in.Services, v)
	case group == "" && tm.Kind == "Secret":
		var v corev1.Secret
		if err := decode(&v); err != nil {
			return err
		}
		defaultNamespace(&v.ObjectMeta)
		// stringData wins over data, as the API server merges them.
		for k, s := range v.StringData {
			if v.Data == nil {
				v.Data = map[string][]byte{}
			}
			v.Data[k] = []byte(s)
		}
		v.StringData = nil
		in.Secrets = append(in.Secrets, v)
	case group == "configuration.konghq.com":
		switch tm.Kind {
		case "KongPlugin", "KongClusterPlugin":
			var v KICPlugin
			if err := decode(&v); err != nil {
				return err
			}
			if tm.Kind == "KongPlugin" {
				defaultNamespace(&v.ObjectMeta)
				in.KongPlugins = append(in.KongPlugins, v)
			} else {
				v.Namespace = ""
				in.KongClusterPlugins = append(in.KongClusterPlugins, v)
			}
		case "KongConsumer":
			var v KICConsumer
			if err := decode(&v); err != nil {
				return err
			}
			defaultNamespace(&v.ObjectMeta)
			in.KongConsumers = append(in.KongConsumers, v)
		case "KongConsumerGroup":
			var v Meta
			if err := decode(&v); err != nil {
				return err
			}
			defaultNamespace(&v.ObjectMeta)
			in.KongConsumerGroups = append(in.KongConsumerGroups, v)
		case "KongIngress":
			var v KICKongIngress
			if err := decode(&v); err != nil {
				return err
			}
			defaultNamespace(&v.ObjectMeta)
			in.KongIngresses = append(in.KongIngresses, v)
		case "TCPIngress", "UDPIngress":
			var v KICStreamIngress
			if err := decode(&v); err != nil {
				return err
			}
			defaultNamespace(&v.ObjectMeta)
			if tm.Kind == "TCPIngress" {
				in.TCPIngresses = append(in.TCPIngresses, v)
			} else {
				in.UDPIngresses = append(in.UDPIngresses, v)
			}
		default:
			in.Ignored = append(in.Ignored, where)
		}
	default:
		in.Ignored = append(in.Ignored, where)
	}
	return nil
}

func defaultNamespace(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = "default"
	}
}

// secretValue returns a Secret key's value (data and stringData merged).
func secretValue(s *corev1.Secret, key string) (string, bool) {
	v, ok := s.Data[key]
	return string(v), ok
}

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// volumeFile is one file a volume holds, relative to the volume directory.
type volumeFile struct {
	data []byte
	mode os.FileMode
}

// volumes materializes a pod's volumes as directories under root. They are
// re-read periodically so that Secret rotation and token refresh reach
// running containers, the way the kubelet updates volumes in place.
type volumes struct {
	cs   kubernetes.Interface
	pod  *corev1.Pod
	root string
	// tokenExpiry is when each projected token must be refreshed.
	tokenExpiry map[string]time.Time
}

func newVolumes(cs kubernetes.Interface, pod *corev1.Pod, root string) *volumes {
	return &volumes{cs: cs, pod: pod, root: root, tokenExpiry: map[string]time.Time{}}
}

// dir is where a volume's files live on the host.
func (v *volumes) dir(name string) string { return filepath.Join(v.root, name) }

// sync writes every volume; it fails on a missing non-optional source, which
// keeps the pod from starting, as the kubelet does.
func (v *volumes) sync(ctx context.Context) error {
	for _, vol := range v.pod.Spec.Volumes {
		dir := v.dir(vol.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
		src := vol.VolumeSource
		var files map[string]volumeFile
		var err error
		switch {
		case src.EmptyDir != nil:
			// World-writable like the kubelet's, so any container user can write.
			if err := os.Chmod(dir, 0o777); err != nil {
				return fmt.Errorf("volume %s: %w", vol.Name, err)
			}
			continue
		case src.HostPath != nil:
			continue // bind-mounted straight from the host path
		case src.Secret != nil:
			files, err = v.secretFiles(ctx, src.Secret.SecretName, src.Secret.Items, src.Secret.DefaultMode, src.Secret.Optional)
		case src.ConfigMap != nil:
			files, err = v.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.DefaultMode, src.ConfigMap.Optional)
		case src.DownwardAPI != nil:
			files, err = v.downwardFiles(src.DownwardAPI.Items, src.DownwardAPI.DefaultMode)
		case src.Projected != nil:
			files, err = v.projectedFiles(ctx, vol.Name, src.Projected)
		default:
			return fmt.Errorf("volume %s: only emptyDir, hostPath, secret, configMap, downwardAPI and projected volumes run in the lab", vol.Name)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
		if err := writeFiles(dir, files); err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
		if err := fsGroupOwn(dir, v.pod); err != nil {
			return fmt.Errorf("volume %s: fsGroup: %w", vol.Name, err)
		}
	}
	return nil
}

// source returns the host path a volume mount binds.
func (v *volumes) source(m corev1.VolumeMount) (string, error) {
	for _, vol := range v.pod.Spec.Volumes {
		if vol.Name != m.Name {
			continue
		}
		base := v.dir(vol.Name)
		if vol.HostPath != nil {
			base = vol.HostPath.Path
		}
		if m.SubPath != "" {
			if strings.Contains(m.SubPath, "..") {
				return "", fmt.Errorf("volume mount %s: subPath %q may not contain ..", m.Name, m.SubPath)
			}
			return filepath.Join(base, m.SubPath), nil
		}
		return base, nil
	}
	return "", fmt.Errorf("volume mount %s: no such volume", m.Name)
}

func mode(defaultMode *int32, item *int32) os.FileMode {
	if item != nil {
		return os.FileMode(*item)
	}
	if defaultMode != nil {
		return os.FileMode(*defaultMode)
	}
	return 0o644
}

func pick(data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, what string) (map[string]volumeFile, error) {
	out := map[string]volumeFile{}
	if len(items) == 0 {
		for k, d := range data {
			out[k] = volumeFile{data: d, mode: mode(defaultMode, nil)}
		}
		return out, nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("%s has no key %q", what, it.Key)
		}
		out[it.Path] = volumeFile{data: d, mode: mode(defaultMode, it.Mode)}
	}
	return out, nil
}

func (v *volumes) secretFiles(ctx context.Context, name string, items []corev1.KeyToPath, defaultMode *int32, optional *bool) (map[string]volumeFile, error) {
	s, err := v.cs.CoreV1().Secrets(v.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
			return nil, nil
		}
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return pick(s.Data, items, defaultMode, "Secret "+name)
}

func (v *volumes) configMapFiles(ctx context.Context, name string, items []corev1.KeyToPath, defaultMode *int32, optional *bool) (map[string]volumeFile, error) {
	cm, err := v.cs.CoreV1().ConfigMaps(v.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
			return nil, nil
		}
		return nil, fmt.Errorf("configMap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return pick(data, items, defaultMode, "ConfigMap "+name)
}

func (v *volumes) downwardFiles(items []corev1.DownwardAPIVolumeFile, defaultMode *int32) (map[string]volumeFile, error) {
	out := map[string]volumeFile{}
	for _, it := range items {
		if it.FieldRef == nil {
			return nil, fmt.Errorf("downwardAPI item %s: only fieldRef is supported by the lab", it.Path)
		}
		val, err := fieldValue(v.pod, it.FieldRef.FieldPath)
		if err != nil {
			return nil, err
		}
		out[it.Path] = volumeFile{data: []byte(val), mode: mode(defaultMode, it.Mode)}
	}
	return out, nil
}

func (v *volumes) projectedFiles(ctx context.Context, volName string, p *corev1.ProjectedVolumeSource) (map[string]volumeFile, error) {
	out := map[string]volumeFile{}
	merge := func(files map[string]volumeFile) {
		for k, f := range files {
			out[k] = f
		}
	}
	for i, src := range p.Sources {
		switch {
		case src.ServiceAccountToken != nil:
			key := fmt.Sprintf("%s/%d", volName, i)
			path := filepath.Join(v.dir(volName), src.ServiceAccountToken.Path)
			if exp, ok := v.tokenExpiry[key]; ok && time.Now().Before(exp) {
				if data, err := os.ReadFile(path); err == nil {
					out[src.ServiceAccountToken.Path] = volumeFile{data: data, mode: mode(p.DefaultMode, nil)}
					continue
				}
			}
			token, err := v.token(ctx, src.ServiceAccountToken)
			if err != nil {
				return nil, err
			}
			v.tokenExpiry[key] = token.refreshAt
			out[src.ServiceAccountToken.Path] = volumeFile{data: []byte(token.value), mode: mode(p.DefaultMode, nil)}
		case src.Secret != nil:
			files, err := v.secretFiles(ctx, src.Secret.Name, src.Secret.Items, p.DefaultMode, src.Secret.Optional)
			if err != nil {
				return nil, err
			}
			merge(files)
		case src.ConfigMap != nil:
			files, err := v.configMapFiles(ctx, src.ConfigMap.Name, src.ConfigMap.Items, p.DefaultMode, src.ConfigMap.Optional)
			if err != nil {
				return nil, err
			}
			merge(files)
		case src.DownwardAPI != nil:
			files, err := v.downwardFiles(src.DownwardAPI.Items, p.DefaultMode)
			if err != nil {
				return nil, err
			}
			merge(files)
		default:
			return nil, fmt.Errorf("projected source %d: not supported by the lab", i)
		}
	}
	return out, nil
}

type issuedToken struct {
	value     string
	refreshAt time.Time
}

// token asks the apiserver for a token bound to the pod, like the kubelet;
// it is refreshed at 80% of its lifetime.
func (v *volumes) token(ctx context.Context, src *corev1.ServiceAccountTokenProjection) (issuedToken, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(ptr.Deref(src.ExpirationSeconds, 3600)),
		BoundObjectRef: &authenticationv1.BoundObjectReference{
			APIVersion: "v1", Kind: "Pod", Name: v.pod.Name, UID: v.pod.UID,
		},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := v.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	resp, err := v.cs.CoreV1().ServiceAccounts(v.pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return issuedToken{}, fmt.Errorf("token for ServiceAccount %s/%s: %w", v.pod.Namespace, sa, err)
	}
	life := time.Until(resp.Status.ExpirationTimestamp.Time)
	return issuedToken{value: resp.Status.Token, refreshAt: time.Now().Add(life * 8 / 10)}, nil
}

// writeFiles makes dir hold exactly files. Each file is replaced by rename,
// so a reader never sees half a certificate.
func writeFiles(dir string, files map[string]volumeFile) error {
	for rel, f := range files {
		if strings.Contains(rel, "..") || filepath.IsAbs(rel) {
			return fmt.Errorf("path %q leaves the volume", rel)
		}
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(path); err == nil && string(old) == string(f.data) {
			_ = os.Chmod(path, f.mode)
			continue
		}
		tmp := filepath.Join(filepath.Dir(path), ".lab-"+filepath.Base(path))
		if err := os.WriteFile(tmp, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(tmp, f.mode); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	// Keys removed from the source disappear from the volume.
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if _, ok := files[rel]; !ok {
			return os.Remove(path)
		}
		return nil
	})
}

package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// identity is the user and groups a container's process runs as.
type identity struct {
	uid, gid int64
	groups   []int64
}

// containerIdentity resolves runAsUser, runAsGroup, fsGroup and
// supplementalGroups the way the kubelet does, with the image's own user as
// the default, and refuses runAsNonRoot for a root user.
func containerIdentity(pod *corev1.Pod, c *corev1.Container) (identity, error) {
	uid, gid := imageUser(c.Image)
	var nonRoot *bool
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if psc.RunAsGroup != nil {
			gid = *psc.RunAsGroup
		}
		nonRoot = psc.RunAsNonRoot
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = *sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	if nonRoot != nil && *nonRoot && uid == 0 {
		return identity{}, fmt.Errorf("container has runAsNonRoot and image will run as root (image %s)", c.Image)
	}
	id := identity{uid: uid, gid: gid}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.FSGroup != nil {
			id.groups = append(id.groups, *psc.FSGroup)
		}
		id.groups = append(id.groups, psc.SupplementalGroups...)
	}
	return id, nil
}

func (id identity) flags() []string {
	if id.uid == 0 && id.gid == 0 && len(id.groups) == 0 {
		return nil
	}
	out := []string{"--uid", strconv.FormatInt(id.uid, 10), "--gid", strconv.FormatInt(id.gid, 10)}
	if len(id.groups) > 0 {
		gs := make([]string, len(id.groups))
		for i, g := range id.groups {
			gs[i] = strconv.FormatInt(g, 10)
		}
		out = append(out, "--groups", strings.Join(gs, ","))
	}
	return out
}

// fsGroupOwn gives a volume's files to the pod's fsGroup, as the kubelet
// does, so a non-root container reads a 0440 Secret through its group.
func fsGroupOwn(dir string, pod *corev1.Pod) error {
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.FSGroup == nil {
		return nil
	}
	gid := int(*psc.FSGroup)
	return filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, 0, gid); err != nil {
			return err
		}
		if info.IsDir() {
			return os.Chmod(path, 0o2775)
		}
		return nil
	})
}

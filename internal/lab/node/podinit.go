package node

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// InitCommand is the hidden subcommand of the lab binary that becomes a
// container: started by the node in a fresh mount and UTS namespace, it
// makes its mounts private, bind-mounts the pod's volume directories onto
// the container's mount paths, enters the pod's network namespace and then
// replaces itself with the program. Bind mounts in a private mount namespace
// let unmodified programs find Secrets and tokens at the paths the pod spec
// names, and they disappear with the last process of the namespace, so
// nothing is left mounted on the host.
const InitCommand = "pod-init"

// mountSpec is one --mount value: source:target[:ro].
type mountSpec struct {
	source, target string
	readOnly       bool
}

func (m mountSpec) String() string {
	s := m.source + ":" + m.target
	if m.readOnly {
		s += ":ro"
	}
	return s
}

type mountList []mountSpec

func (l *mountList) String() string { return fmt.Sprint(*l) }
func (l *mountList) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return fmt.Errorf("mount %q: want source:target[:ro]", v)
	}
	*l = append(*l, mountSpec{source: parts[0], target: parts[1], readOnly: len(parts) == 3 && parts[2] == "ro"})
	return nil
}

// RunInit is the body of the pod-init subcommand; it returns only on error.
func RunInit(args []string) error {
	fs := flag.NewFlagSet(InitCommand, flag.ContinueOnError)
	netnsPath := fs.String("netns", "", "network namespace file to enter")
	hostname := fs.String("hostname", "", "hostname of the pod")
	workdir := fs.String("workdir", "", "working directory of the container")
	uid := fs.Int("uid", 0, "user the program runs as")
	gid := fs.Int("gid", 0, "primary group the program runs as")
	groups := fs.String("groups", "", "comma-separated supplementary groups")
	readOnlyRoot := fs.Bool("read-only-root", false, "make every mount read-only but the writable volumes (readOnlyRootFilesystem)")
	var mounts mountList
	fs.Var(&mounts, "mount", "bind mount source:target[:ro] (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return errors.New("no program given")
	}
	// Everything the container needs from the host is opened before the
	// first mount: a mount may hide the rest (an emptyDir on /tmp hides a lab
	// directory under /tmp). Mounts and exec then go through the open
	// descriptors via /proc/self/fd.
	program := argv[0]
	if !strings.Contains(program, "/") {
		found, err := exec.LookPath(program)
		if err != nil {
			return fmt.Errorf("program %q: %w", program, err)
		}
		program = found
	}
	progFD, err := unix.Open(program, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open program %s: %w", program, err)
	}
	var netFD = -1
	if *netnsPath != "" {
		if netFD, err = unix.Open(*netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("open %s: %w", *netnsPath, err)
		}
	}
	sources := make([]string, len(mounts))
	dirs := make([]bool, len(mounts))
	for i, m := range mounts {
		fd, err := unix.Open(m.source, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open mount source %s: %w", m.source, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("stat mount source %s: %w", m.source, err)
		}
		sources[i], dirs[i] = fmt.Sprintf("/proc/self/fd/%d", fd), st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	// Without this, bind mounts would propagate back to a shared host root.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// Parents before children, as container runtimes order mounts.
	order := make([]int, len(mounts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return strings.Count(filepath.Clean(mounts[order[a]].target), "/") < strings.Count(filepath.Clean(mounts[order[b]].target), "/")
	})
	for _, i := range order {
		m := mounts[i]
		// A target inside an earlier mount (a volume) may not exist yet.
		if _, err := os.Lstat(m.target); os.IsNotExist(err) {
			if dirs[i] {
				err = os.MkdirAll(m.target, 0o755)
			} else if err = os.MkdirAll(filepath.Dir(m.target), 0o755); err == nil {
				err = os.WriteFile(m.target, nil, 0o644)
			}
			if err != nil {
				return fmt.Errorf("create mount target %s: %w", m.target, err)
			}
		}
		if err := unix.Mount(sources[i], m.target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", m, err)
		}
		if m.readOnly {
			if err := unix.Mount("", m.target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("make %s read-only: %w", m.target, err)
			}
		}
	}
	if *readOnlyRoot {
		if err := makeRootReadOnly(mounts); err != nil {
			return err
		}
	}
	if *hostname != "" {
		if err := unix.Sethostname([]byte(*hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if *workdir != "" {
		if err := os.Chdir(*workdir); err != nil {
			return fmt.Errorf("working directory %s: %w", *workdir, err)
		}
	}
	// Entering a network namespace is per thread and execve keeps the
	// calling thread's namespaces, so the thread must stay locked.
	runtime.LockOSThread()
	if netFD >= 0 {
		if err := unix.Setns(netFD, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter %s: %w", *netnsPath, err)
		}
	}
	// Privileges go last: mounts and namespaces need root.
	if *uid != 0 || *gid != 0 || *groups != "" {
		var gs []int
		for _, g := range strings.Split(*groups, ",") {
			if g == "" {
				continue
			}
			n, err := strconv.Atoi(g)
			if err != nil {
				return fmt.Errorf("group %q: %w", g, err)
			}
			gs = append(gs, n)
		}
		if err := syscall.Setgroups(gs); err != nil {
			return fmt.Errorf("set groups: %w", err)
		}
		if err := syscall.Setgid(*gid); err != nil {
			return fmt.Errorf("set gid %d: %w", *gid, err)
		}
		if err := syscall.Setuid(*uid); err != nil {
			return fmt.Errorf("set uid %d: %w", *uid, err)
		}
	}
	return syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", progFD), argv, os.Environ())
}

// makeRootReadOnly does what a container runtime does for
// readOnlyRootFilesystem, in the container's own mount namespace: every
// mount becomes read-only, then the volumes mounted read-write are made
// writable again (each one alone, so a read-only volume nested in a
// writable one stays read-only). A runtime hands a container its stdout
// and stderr as pipes, which programs may reopen (Kong logs to
// /dev/stdout); the lab hands it log files, so those two files are bound
// onto themselves and stay writable too.
func makeRootReadOnly(mounts []mountSpec) error {
	var writable []string
	for _, fd := range []int{1, 2} {
		path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil || !filepath.IsAbs(path) {
			continue
		}
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := unix.Mount(path, path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("keep the container log %s writable: %w", path, err)
		}
		writable = append(writable, path)
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("make the root file system read-only: %w", err)
	}
	for _, m := range mounts {
		if !m.readOnly {
			writable = append(writable, m.target)
		}
	}
	for _, target := range writable {
		if err := unix.MountSetattr(unix.AT_FDCWD, target, 0, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return fmt.Errorf("keep %s writable: %w", target, err)
		}
	}
	return nil
}

package benchreport

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Machine describes the computer a benchmark ran on, so readers can judge
// figures measured elsewhere against their own.
type Machine struct {
	CPU         string // model name, e.g. "Intel(R) Xeon(R) Processor"
	Cores       int    // logical CPUs the kernel lists
	MemoryBytes uint64 // total RAM
	Kernel      string // e.g. "Linux 6.1.0-18-amd64"
	OS          string // distribution and architecture, e.g. "Debian GNU/Linux 12 (bookworm), x86_64"
	LoadAvg     string // 1, 5 and 15 minute load averages when described, e.g. "0.52 0.61 0.70"
}

// DescribeMachine reads the machine's description from /proc/cpuinfo,
// /proc/meminfo, /proc/loadavg, /etc/os-release and uname(2). It is best
// effort: a benchmark report is still worth writing when a source is
// missing, so what cannot be read is left empty and shows as "unknown".
func DescribeMachine() Machine {
	var m Machine
	if text, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU, m.Cores = parseCPUInfo(string(text))
	}
	if m.Cores == 0 {
		m.Cores = runtime.NumCPU()
	}
	if text, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryBytes = parseMemTotal(string(text))
	}
	if text, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = parseLoadAvg(string(text))
	}
	distro := ""
	if text, err := os.ReadFile("/etc/os-release"); err == nil {
		distro = parseOSRelease(string(text))
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		sysname := unix.ByteSliceToString(u.Sysname[:])
		m.Kernel = strings.TrimSpace(sysname + " " + unix.ByteSliceToString(u.Release[:]))
		if distro == "" {
			distro = sysname
		}
		if arch := unix.ByteSliceToString(u.Machine[:]); arch != "" {
			distro = strings.TrimPrefix(distro+", "+arch, ", ")
		}
	}
	m.OS = distro
	return m
}

// parseCPUInfo returns the CPU model and the number of logical CPUs listed in
// the text of /proc/cpuinfo.
func parseCPUInfo(text string) (model string, cpus int) {
	// x86 names the model "model name"; other architectures use other keys,
	// and arm64 often names none, so the first known key present wins.
	keys := []string{"model name", "cpu model", "Processor", "Hardware", "cpu"}
	found := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "processor" {
			cpus++
			continue
		}
		if _, seen := found[key]; !seen && value != "" {
			found[key] = value
		}
	}
	for _, k := range keys {
		if v, ok := found[k]; ok {
			return strings.Join(strings.Fields(v), " "), cpus
		}
	}
	return "", cpus
}

// parseMemTotal returns MemTotal in bytes from the text of /proc/meminfo, or
// zero when it is absent.
func parseMemTotal(text string) uint64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		n, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return 0
		}
		// The kernel writes "kB" but means KiB.
		if len(fields) >= 3 && fields[2] == "kB" {
			n *= 1024
		}
		return n
	}
	return 0
}

// parseLoadAvg keeps the three load averages from the text of /proc/loadavg
// and drops the task counts and last PID that follow them.
func parseLoadAvg(text string) string {
	fields := strings.Fields(text)
	if len(fields) > 3 {
		fields = fields[:3]
	}
	return strings.Join(fields, " ")
}

// parseOSRelease returns the distribution's name from the text of
// os-release(5): PRETTY_NAME, else NAME and VERSION.
func parseOSRelease(text string) string {
	values := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		if unquoted, err := strconv.Unquote(value); err == nil {
			value = unquoted
		} else {
			value = strings.Trim(value, `'"`)
		}
		values[key] = value
	}
	if v := values["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(values["NAME"] + " " + values["VERSION"])
}

package scalebench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procUsage is what /proc says about a set of processes. PSSBytes is the
// proportional set size: pages shared between processes, such as an nginx
// master's and its workers' shared memory zones, are divided among them,
// so the sum over processes is what they use together (a sum of RSS counts
// shared pages once per process).
type procUsage struct {
	Count    int
	RSSBytes uint64
	PSSBytes uint64
	CPUTicks uint64 // utime+stime, in clock ticks (USER_HZ, 100 on Linux)
}

const userHZ = 100

func (u procUsage) CPUSeconds() float64 { return float64(u.CPUTicks) / userHZ }

// processUsage sums the usage of every process whose command line match
// accepts.
func processUsage(match func(argv []string) bool) procUsage {
	var u procUsage
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if !match(argv) {
			continue
		}
		u.Count++
		u.RSSBytes += statusRSS(filepath.Join(d, "status"))
		u.PSSBytes += pss(d)
		u.CPUTicks += statCPU(filepath.Join(d, "stat"))
	}
	return u
}

// pss reads a process's proportional set size from smaps_rollup.
func pss(procDir string) uint64 { return kibField(filepath.Join(procDir, "smaps_rollup"), "Pss:") }

// kibField reads a "Name:   1234 kB" line of a /proc file, in bytes; 0 when
// the file or the line is missing.
func kibField(path, name string) uint64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func statCPU(path string) uint64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return ut + st
}

// isOperator matches the operator's manager process (`drawbridge manager`,
// or the binary with flags only).
func isOperator(argv []string) bool {
	return filepath.Base(argv[0]) == "drawbridge" && (len(argv) == 1 || argv[1] == "manager" || strings.HasPrefix(argv[1], "-"))
}

// isKong matches Kong's nginx master and worker processes.
func isKong(argv []string) bool {
	return strings.HasPrefix(argv[0], "nginx: master process") || strings.HasPrefix(argv[0], "nginx: worker process") ||
		strings.HasPrefix(argv[0], "nginx: privileged agent")
}

// treeUsage sums the usage of a process and its children (an nginx master
// and its workers).
func treeUsage(pid int) procUsage {
	self := strconv.Itoa(pid)
	u := procUsage{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if filepath.Base(d) != self && (len(f) < 2 || f[1] != self) {
			continue
		}
		u.Count++
		u.RSSBytes += statusRSS(filepath.Join(d, "status"))
		u.PSSBytes += pss(d)
		u.CPUTicks += statCPU(filepath.Join(d, "stat"))
	}
	return u
}

func statusRSS(path string) uint64 { return kibField(path, "VmRSS:") }

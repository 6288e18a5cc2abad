package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stat is what /proc/<pid>/stat says about one process.
type Stat struct {
	PID     int
	Command string
	// State is one letter: R, S, D, Z (zombie: dead, waiting to be
	// reaped), X (dead), ...
	State      string
	PPID, PGRP int
}

// Alive reports whether the process still runs (zombies do not).
func (s Stat) Alive() bool { return s.State != "Z" && s.State != "X" }

// Stats lists the processes of the machine; processes that exit while it
// reads are left out.
func Stats() []Stat {
	files, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]Stat, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(raw)
		// The command is in parentheses and may itself hold spaces and
		// parentheses: the fields that follow start after the last ')'.
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 3 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		ppid, _ := strconv.Atoi(fields[1])
		pgrp, _ := strconv.Atoi(fields[2])
		out = append(out, Stat{PID: pid, Command: s[open+1 : end], State: fields[0], PPID: ppid, PGRP: pgrp})
	}
	return out
}

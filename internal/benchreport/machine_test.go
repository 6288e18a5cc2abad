package benchreport

import (
	"runtime"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		wantModel string
		wantCPUs  int
	}{
		{
			name: "x86",
			text: "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 167\nmodel name\t: Intel(R) Xeon(R)   Processor\n\n" +
				"processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n",
			wantModel: "Intel(R) Xeon(R) Processor",
			wantCPUs:  2,
		},
		{
			// arm64 kernels list no model name; the hardware line is the best there is.
			name:      "arm64 with hardware",
			text:      "processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n\nprocessor\t: 1\n\nHardware\t: BCM2835\n",
			wantModel: "BCM2835",
			wantCPUs:  2,
		},
		{
			name:      "nothing known",
			text:      "processor\t: 0\nBogoMIPS\t: 108.00\n",
			wantModel: "",
			wantCPUs:  1,
		},
		{name: "empty", text: "", wantModel: "", wantCPUs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model, cpus := parseCPUInfo(tt.text)
			if model != tt.wantModel || cpus != tt.wantCPUs {
				t.Errorf("parseCPUInfo = %q, %d; want %q, %d", model, cpus, tt.wantModel, tt.wantCPUs)
			}
		})
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		text string
		want uint64
	}{
		{"MemTotal:       24683664 kB\nMemFree:        18416204 kB\n", 24683664 * 1024},
		{"MemFree: 1 kB\n", 0},
		{"MemTotal: lots kB\n", 0},
	}
	for _, tt := range tests {
		if got := parseMemTotal(tt.text); got != tt.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestParseLoadAvgAndOSRelease(t *testing.T) {
	if got := parseLoadAvg("2.52 1.52 1.77 6/137 9012\n"); got != "2.52 1.52 1.77" {
		t.Errorf("parseLoadAvg = %q", got)
	}
	tests := []struct {
		text, want string
	}{
		{"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"# comment\nNAME=Fedora\nVERSION='40 (Server Edition)'\n", "Fedora 40 (Server Edition)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := parseOSRelease(tt.text); got != tt.want {
			t.Errorf("parseOSRelease(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestDescribeMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("DescribeMachine reads Linux's /proc and /etc/os-release; elsewhere it reports what Go knows")
	}
	m := DescribeMachine()
	if m.Cores < 1 || m.MemoryBytes == 0 || m.Kernel == "" || m.LoadAvg == "" || m.OS == "" {
		t.Errorf("DescribeMachine left out what Linux provides: %+v", m)
	}
}

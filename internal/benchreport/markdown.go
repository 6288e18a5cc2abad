package benchreport

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// renderMarkdown renders the README.md of r. Every chart appears as an image
// reference to its file, which Write places next to the README.
func renderMarkdown(r *Report) []byte {
	var blocks []string
	add := func(b string) {
		if b = strings.TrimSpace(b); b != "" {
			blocks = append(blocks, b)
		}
	}

	title := oneLine(r.Title)
	if title == "" {
		title = "Benchmark report"
	}
	add("# " + title)
	if r.Command != "" {
		add("How to rerun: " + codeSpan(r.Command))
	}
	add(runTimes(r.Started, r.Duration))
	add(r.Intro)

	add("## Machine")
	add(renderTable(Table{Header: []string{"Property", "Value"}, Rows: machineRows(r.Machine)}))

	if len(r.Versions) > 0 {
		add("## Versions")
		rows := make([][]string, len(r.Versions))
		for i, kv := range r.Versions {
			rows[i] = []string{kv.Key, kv.Value}
		}
		add(renderTable(Table{Header: []string{"Component", "Version"}, Rows: rows}))
	}

	for _, s := range r.Sections {
		add("## " + oneLine(s.Title))
		add(s.Text)
		for _, t := range s.Tables {
			add(renderTable(t))
		}
		for _, c := range s.Charts {
			alt := c.Title
			if alt == "" {
				alt = strings.TrimSuffix(c.File, ".png")
			}
			add("![" + escapeAlt(oneLine(alt)) + "](" + c.File + ")")
		}
	}
	return []byte(strings.Join(blocks, "\n\n") + "\n")
}

// runTimes says when the run started and how long it took, in UTC so the
// text does not depend on the time zone of whoever regenerates it.
func runTimes(started time.Time, took time.Duration) string {
	var parts []string
	if !started.IsZero() {
		parts = append(parts, "Started "+started.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if took > 0 {
		parts = append(parts, "took "+FormatDuration(took))
	}
	if len(parts) == 0 {
		return ""
	}
	s := strings.Join(parts, ", ") + "."
	return strings.ToUpper(s[:1]) + s[1:]
}

func machineRows(m Machine) [][]string {
	orUnknown := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "unknown"
		}
		return s
	}
	cores, memory := "unknown", "unknown"
	if m.Cores > 0 {
		cores = strconv.Itoa(m.Cores)
	}
	if m.MemoryBytes > 0 {
		memory = FormatBytes(m.MemoryBytes)
	}
	return [][]string{
		{"CPU", orUnknown(m.CPU)},
		{"Cores", cores},
		{"Memory", memory},
		{"Kernel", orUnknown(m.Kernel)},
		{"OS", orUnknown(m.OS)},
		{"Load average (1, 5, 15 min)", orUnknown(m.LoadAvg)},
	}
}

// renderTable renders t as a GitHub pipe table with its caption in bold
// above it. Columns whose cells are all numbers are right-aligned so their
// digits line up.
func renderTable(t Table) string {
	if len(t.Header) == 0 {
		return ""
	}
	var b strings.Builder
	if c := oneLine(t.Caption); c != "" {
		b.WriteString("**" + c + "**\n\n")
	}
	writeRow := func(cells []string) {
		b.WriteString("|")
		for i := range t.Header {
			cell := ""
			if i < len(cells) {
				cell = escapeCell(cells[i])
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	writeRow(t.Header)
	b.WriteString("|")
	for i := range t.Header {
		if numericColumn(t.Rows, i) {
			b.WriteString(" ---: |")
		} else {
			b.WriteString(" --- |")
		}
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		writeRow(row)
	}
	return b.String()
}

// numericColumn reports whether column i has at least one cell and every
// non-empty cell is a number, perhaps with a unit ("312 ms", "-4", "12.3k",
// "95 %"). Versions such as "3.9.3" and commits such as "1a5578b" are not.
func numericColumn(rows [][]string, i int) bool {
	seen := false
	for _, row := range rows {
		if i >= len(row) || strings.TrimSpace(row[i]) == "" {
			continue
		}
		if !numberCell.MatchString(strings.TrimSpace(row[i])) {
			return false
		}
		seen = true
	}
	return seen
}

// numberCell matches a number with an optional unit: letters straight after
// it, or one word after a space.
var numberCell = regexp.MustCompile(`^[+-]?[0-9][0-9,]*(\.[0-9]+)?([a-zA-Zµ%]*|( [^ 0-9][^ ]*))$`)

// escapeCell keeps a cell inside its column: a bare '|' would end it and a
// newline would end the table.
func escapeCell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func escapeAlt(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// oneLine folds s onto one line, for headings and captions.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// codeSpan quotes s as inline code, using a longer backtick fence when s
// itself contains backticks.
func codeSpan(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

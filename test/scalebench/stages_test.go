package scalebench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stageRecord is one stage's raw figures as saved under data/: the report
// can be rebuilt from stages run at different times (`make bench
// BENCH_STAGES=cli` reruns one stage and keeps the others), and says which
// commit and when each stage ran.
type stageRecord struct {
	Stage   string          `json:"stage"`
	Commit  string          `json:"commit"`
	Started time.Time       `json:"started"`
	Data    json.RawMessage `json:"data"`
}

// saveStage writes a stage's figures, so a later stage that fails loses
// nothing.
func saveStage(dir, stage, commit string, started time.Time, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s figures: %w", stage, err)
	}
	rec, err := json.MarshalIndent(stageRecord{Stage: stage, Commit: commit, Started: started.UTC().Truncate(time.Second), Data: data}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s figures: %w", stage, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "data", stage+".json"), append(rec, '\n'), 0o644)
}

// loadStage reads a stage saved by an earlier run into v; false when there
// is none.
func loadStage(dir, stage string, v any) (stageRecord, bool, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "data", stage+".json"))
	if os.IsNotExist(err) {
		return stageRecord{}, false, nil
	}
	if err != nil {
		return stageRecord{}, false, err
	}
	var rec stageRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, false, fmt.Errorf("read %s figures: %w", stage, err)
	}
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return rec, false, fmt.Errorf("read %s figures: %w", stage, err)
	}
	return rec, true, nil
}

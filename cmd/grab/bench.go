package main

import "context"

func runBench(ctx context.Context, ui *ui, args []string) error {
	return &usageError{msg: "grab bench: not built yet"}
}

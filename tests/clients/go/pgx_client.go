// Go with pgx (v4, from Debian's golang-github-jackc-pgx-v4-dev: built offline in GOPATH mode),
// DATABASE_URL as-is.   pgx_client TOKEN
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v4"
)

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "DATABASE_URL is not set: run this under `dockhand run <project> -- ...`")
		os.Exit(2)
	}
	ctx := context.Background()
	rest := url[strings.Index(url, "://"):]
	for _, s := range []string{"postgres", "postgresql"} {
		c, err := pgx.Connect(ctx, s+rest)
		if err != nil {
			fmt.Printf("SCHEME %s fail %s\n", s, strings.Split(err.Error(), "\n")[0])
			continue
		}
		c.Close(ctx)
		fmt.Printf("SCHEME %s ok\n", s)
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close(ctx)
	for _, q := range []string{"CREATE TABLE IF NOT EXISTS client_rows (client text, token text)"} {
		if _, err := c.Exec(ctx, q); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if _, err := c.Exec(ctx, "INSERT INTO client_rows VALUES ('pgx', $1)", os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var got string
	if err := c.QueryRow(ctx, "SELECT token FROM client_rows WHERE client = 'pgx'").Scan(&got); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("READ %s\n", got)
}

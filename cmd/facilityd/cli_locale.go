package main

import (
	"os"

	"github.com/facilityd/facilityd/locale"
)

// cliLang is the language of the client commands' tables: FACILITYD_LOCALE, as the daemon
// reads it; English when unset or not supported (a table is better than an error).
func cliLang() locale.Locale {
	l, err := locale.Parse(os.Getenv("FACILITYD_LOCALE"))
	if err != nil {
		return locale.EN
	}
	return l
}

// header is a table's heading row in the CLI's language.
func header(table string) string { return cliLang().T("cli." + table) }

// Package browserlab drives the lab's steps ("Failover to Secondary", steps 1.1 to 2.5)
// through a real browser: Debian's Chromium, headless, controlled with chromedp,
// against the sandbox's replica of the lab. It holds tests only.
//
// The tests need a Chromium-family browser (toolcheck.Chromium): with CI=true a missing
// browser fails them; elsewhere they are skipped and say why. `.ci/run` installs
// Debian's chromium package when it is missing and it runs as root.
//
// Screenshots of every step go to the test's artifact directory (go test -artifacts
// keeps them, under -outputdir); with -docs the test also writes the two pictures the
// README shows into docs/.
package browserlab

//! Reporters of runner events: TTY (indicatif + console), plain (one line per event) and the
//! JSON-lines run log. The only place besides `main` that writes to the terminal.

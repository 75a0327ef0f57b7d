if header :contains "subject" "SPAM" { discard; stop; }

require ["fileinto", "regex", "variables"];
if header :regex "subject" "^\\[([a-z-]+)\\] (.*)$" { fileinto "re.${1}"; }
if address :regex :localpart "from" "^[a-z]+[0-9]*$" { fileinto "plainlocal"; }
if header :regex :comparator "i;octet" "subject" "[[:upper:]]{4}" { fileinto "caps"; }

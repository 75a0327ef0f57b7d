# RFC 5229 §3.2's example: the first "*" matches as little as it can.
require ["fileinto", "variables"];
if header :matches "Subject" "[*] *" { fileinto "lists.${1}"; }
if header :matches "from" "*<*@*>" { fileinto "by.${3}.${2}"; }
if header :matches "date" "???, ? ??? ????*" { fileinto "day.${2}"; }

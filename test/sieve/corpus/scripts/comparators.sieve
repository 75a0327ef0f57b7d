require ["fileinto", "comparator-i;ascii-numeric", "relational"];
if header :is :comparator "i;octet" "subject" "offers" { fileinto "octet-lower"; }
if header :is :comparator "i;ascii-casemap" "subject" "OFFERS" { fileinto "casemap"; }
if header :value "ge" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "prio3"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-spam-score" "3" { fileinto "lowscore"; }

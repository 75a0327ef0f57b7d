require ["fileinto", "relational"];
if header :value "gt" "subject" "M" { fileinto "AfterM"; }
if address :value "le" :domain "from" "example.fr" { fileinto "UpToFr"; }

require ["envelope", "fileinto"];
if envelope :domain :is "from" "lists.example.net" { fileinto "ViaList"; }
if envelope :all :is "from" "" { fileinto "Bounces"; }
if envelope :localpart :is "to" "bob" { fileinto "ToBob"; }

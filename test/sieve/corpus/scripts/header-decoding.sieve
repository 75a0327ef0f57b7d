require "fileinto";
if header :is "subject" "Café de la gare" { fileinto "Decoded"; }
if address :is "from" "francois@example.fr" { fileinto "Francois"; }
if header :contains "from" "François" { fileinto "Name"; }

require ["mailbox", "fileinto"];
if mailboxexists "INBOX" { fileinto :create "Sorted"; }
if mailboxexists "Nowhere" { fileinto "Nowhere"; }

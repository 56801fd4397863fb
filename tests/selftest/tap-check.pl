#!/usr/bin/perl
# tap-check.pl FILE VERDICT...
# Reads a saved TAP file with TAP::Parser (the engine of prove) and fails
# on any parse error, a plan that does not match, an ok line, or a failure
# whose YAML block lacks a verdict from the list; failures with verdict
# "fail" must also carry a rule and a transcript.  Prints one line per test.
#
# TAP::Parser up to 3.44 knows versions up to 13 and reports the
# "TAP version 14" line as an error; that one message (and only while the
# parser's maximum is below 14) is tolerated, everything else fails.
use strict;
use warnings;
use TAP::Parser;

my ($file, @verdicts) = @ARGV;
die "usage: $0 FILE VERDICT...\n" unless $file && @verdicts;
my %allowed = map { $_ => 1 } @verdicts;
my $parser = TAP::Parser->new({ source => $file });
my (@problems, $last, %yaml_of);
my $tests = 0;

while (my $r = $parser->next) {
    if ($r->is_test) {
        $tests++;
        $last = $r;
        push @problems, "unexpected ok: " . $r->as_string if $r->is_ok && !$r->has_skip;
    } elsif ($r->is_yaml) {
        push @problems, "YAML block not under a test" unless $last;
        $yaml_of{$last->number} = $r->data if $last;
    }
}

for my $e ($parser->parse_errors) {
    next if $e =~ /^TAP specified version 14 but we don't know about versions later than (\d+)$/
            && $1 < 14;
    push @problems, "parse error: $e";
}
push @problems, "TAP version line is not 14" unless ($parser->version // 0) >= 13
    && `head -n 1 \Q$file\E` eq "TAP version 14\n";
push @problems, "plan " . ($parser->tests_planned // 'none') . " but $tests tests"
    unless defined $parser->tests_planned && $parser->tests_planned == $tests && $tests > 0;

my $failed = 0;
for my $n (sort { $a <=> $b } $parser->failed) {
    $failed++;
    my $y = $yaml_of{$n};
    if (ref $y ne 'HASH') {
        push @problems, "test $n: not ok without a YAML block";
        next;
    }
    my $v = $y->{verdict} // '';
    push @problems, "test $n: verdict '$v', want one of @verdicts" unless $allowed{$v};
    for my $key ($v eq 'fail' ? qw(rule transcript message) : qw(message)) {
        push @problems, "test $n: YAML has no $key"
            unless defined $y->{$key} && length $y->{$key};
    }
    printf "not ok %d verdict=%s rule=%s\n", $n, $v, $y->{rule} // '-';
}
push @problems, "no failing test" unless $failed;

print "problem: $_\n" for @problems;
exit(@problems ? 1 : 0);

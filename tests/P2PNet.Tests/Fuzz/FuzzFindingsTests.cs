using System.Text;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Tests.Fuzz;

/// <summary>
/// One test per bug the fuzzers found in a P2PNet parser: the typed error the parser documents, not a crash.
/// The crashing inputs themselves are in fuzz/corpus/&lt;harness&gt;/crash-* and replayed by <see cref="CorpusReplayTests"/>.
/// </summary>
public sealed class FuzzFindingsTests
{
    [Theory]
    [InlineData("{\"error\":\"invalid\",\"detail\":\"x\"}")] // an error body where an envelope was expected
    [InlineData("{\"kind\":\"identity\",\"payload\":null}")]
    public void Answer_envelope_without_payload_is_a_malformed_answer(string body)
    {
        var ex = Assert.Throws<BootstrapException>(() => BootstrapAnswers.Open(Encoding.UTF8.GetBytes(body), "identity"));
        Assert.Equal(BootstrapError.MalformedAnswer, ex.Error);
    }
}

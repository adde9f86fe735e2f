using System.Text.Json;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>Authority mode on the client: signatures, pinning, locking, tasks; MustBeAuthority.</summary>
public sealed class AuthorityTests
{
    [Fact]
    public async Task Client_verifies_authority_answers_and_applies_its_block_tasks()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        using var villain = Identity.Generate();
        await server.Store.BlockAsync(villain.PeerId.ToString(), server.Now);
        await using var network = await TestServer.NetworkAsync();
        await using var channel = TestServer.Channel(network, server, pinned: server.AuthorityId);
        await channel.ConnectAsync().WaitAsync(TestServer.Wait);
        Assert.Equal(BootstrapMode.Authority, channel.ServerMode);
        Assert.Equal(server.AuthorityId, channel.Authority);
        Assert.True(network.TrustPolicy.IsBlocked(villain.PeerId));
    }

    [Fact]
    public async Task A_pinned_authority_refuses_a_server_with_another_key()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        using var other = Identity.Generate();
        await using var network = await TestServer.NetworkAsync();
        await using var channel = TestServer.Channel(network, server, pinned: other.PeerId);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync());
        Assert.Equal(BootstrapError.AuthorityMismatch, error.Error);
        Assert.Contains("not the pinned", error.Message);
    }

    [Fact]
    public async Task A_forged_answer_is_refused()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        await using var network = await TestServer.NetworkAsync();
        // A man in the middle changes the payload (adds a peer) but cannot sign it.
        using var http = new HttpClient(new RewritingHandler((kind, payload, envelope) => kind == "peers"
            ? envelope with { Payload = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(payload).Replace("\"peers\":[]", "\"peers\":[{\"peerId\":\"x\",\"addresses\":[]}]", StringComparison.Ordinal) + " ")) }
            : envelope));
        await using var channel = TestServer.Channel(network, server, pinned: server.AuthorityId, http: http);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync());
        Assert.Equal(BootstrapError.BadSignature, error.Error);
    }

    [Fact]
    public async Task A_re_signed_answer_is_refused()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        await using var network = await TestServer.NetworkAsync();
        using var mallory = Identity.Generate();
        // Validly signed, but by someone else: only the pinned authority counts.
        using var http = new HttpClient(new RewritingHandler((kind, payload, envelope) => kind == "peers"
            ? envelope with { Signer = mallory.PeerId.ToString(), Signature = Convert.ToBase64String(mallory.Sign(BootstrapSigning.AnswerBytes(kind, payload))) }
            : envelope));
        await using var channel = TestServer.Channel(network, server, pinned: server.AuthorityId, http: http);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync());
        Assert.Equal(BootstrapError.AuthorityMismatch, error.Error);
        Assert.Contains(mallory.PeerId.ToString(), error.Message);
    }

    [Fact]
    public async Task An_unsigned_answer_from_an_authority_is_refused()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        await using var network = await TestServer.NetworkAsync();
        using var http = new HttpClient(new RewritingHandler((kind, _, envelope) => kind == "register" ? envelope with { Signer = null, Signature = null } : envelope));
        await using var channel = TestServer.Channel(network, server, http: http);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync());
        Assert.Equal(BootstrapError.BadSignature, error.Error);
    }

    [Fact]
    public async Task A_second_authority_is_refused_under_FirstSingleLockingAuthority()
    {
        using var folder1 = new TempFolder();
        using var folder2 = new TempFolder();
        await using var first = await TestServer.StartAsync(folder1.Path, o => o.Mode = BootstrapMode.Authority);
        await using var second = await TestServer.StartAsync(folder2.Path, o => o.Mode = BootstrapMode.Authority);
        Assert.NotEqual(first.AuthorityId, second.AuthorityId);
        await using var network = await TestServer.NetworkAsync();
        network.NetworkTrustPolicy.Bootstrap.FirstSingleLockingAuthority = true;
        await using var one = TestServer.Channel(network, first);
        await one.ConnectAsync().WaitAsync(TestServer.Wait);
        Assert.Equal(first.AuthorityId, network.NetworkTrustPolicy.Bootstrap.LockedAuthority);
        await using var two = TestServer.Channel(network, second);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => two.ConnectAsync());
        Assert.Equal(BootstrapError.AuthorityMismatch, error.Error);
        Assert.Contains("locked in", error.Message);
        // The first authority stays usable.
        await one.RefreshPeersAsync().WaitAsync(TestServer.Wait);
    }

    [Fact]
    public async Task MustBeAuthority_refuses_a_trustless_server_and_nothing_is_registered()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        await using var network = await TestServer.NetworkAsync();
        network.NetworkTrustPolicy.Bootstrap.MustBeAuthority = true;
        await using var channel = TestServer.Channel(network, server);
        var error = await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync());
        Assert.Equal(BootstrapError.ModeNotAllowed, error.Error);
        Assert.Contains("MustBeAuthority", error.Message);
        Assert.Equal(0, await server.Store.CountAsync(0));
    }

    [Fact]
    public async Task Authority_servers_can_be_refused_by_policy()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.Mode = BootstrapMode.Authority);
        await using var network = await TestServer.NetworkAsync();
        network.NetworkTrustPolicy.Bootstrap.AllowBootstrapAuthorityConnection = false;
        await using var channel = TestServer.Channel(network, server);
        Assert.Equal(BootstrapError.ModeNotAllowed, (await Assert.ThrowsAsync<BootstrapException>(() => channel.ConnectAsync())).Error);
    }

    /// <summary>Real HTTP underneath; rewrites answer envelopes on the way back (a man in the middle).</summary>
    private sealed class RewritingHandler(Func<string, byte[], BootstrapEnvelope, BootstrapEnvelope> rewrite) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode) return response;
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var envelope = JsonSerializer.Deserialize(body, BootstrapJsonContext.Default.BootstrapEnvelope)!;
            var changed = rewrite(envelope.Kind, Convert.FromBase64String(envelope.Payload), envelope);
            response.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(changed, BootstrapJsonContext.Default.BootstrapEnvelope));
            response.Content.Headers.ContentType = new("application/json");
            return response;
        }
    }
}

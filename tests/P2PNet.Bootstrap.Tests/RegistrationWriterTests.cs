using System.Net;
using Microsoft.Data.Sqlite;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>
/// Registrations are group-committed by one writer: each is answered only after the transaction holding its row is
/// committed, concurrent ones are all stored, a replay within one batch is still refused, and disposal commits what
/// is queued.
/// </summary>
public sealed class RegistrationWriterTests
{
    private static async Task<long> RowsAsync(string database, string peerId)
    {
        // A connection of its own (no pool): it sees exactly what is committed.
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM peers WHERE peer_id = $id";
        command.Parameters.AddWithValue("$id", peerId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task Concurrent_registrations_are_each_answered_after_their_row_is_committed()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.RegistrationsPerMinute = int.MaxValue);
        string database = Path.Combine(folder.Path, "bootstrap.db");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 });
        var identities = Enumerable.Range(0, 64).Select(_ => Identity.Generate()).ToList();
        try
        {
            var registrations = identities.Select(i => TestServer.Registration(i)).ToList();
            var answers = registrations.Select(async r =>
            {
                using var response = await TestServer.PostAsync(http, server, r);
                // Checked the moment this answer arrives, while others may still be queued or in flight.
                return (response.StatusCode, Rows: await RowsAsync(database, r.PeerId));
            }).ToList();
            var results = await Task.WhenAll(answers).WaitAsync(TestServer.Wait);
            Assert.All(results, r => Assert.Equal((HttpStatusCode.OK, 1L), r));
            Assert.Equal(64, await server.Store.CountAsync(0));
        }
        finally
        {
            foreach (var identity in identities) identity.Dispose();
        }
    }

    [Fact]
    public async Task The_same_registration_sent_concurrently_is_accepted_once_and_refused_as_a_replay_otherwise()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.RegistrationsPerMinute = int.MaxValue);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 });
        using var identity = Identity.Generate();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var registration = TestServer.Registration(identity, timestamp: now);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => TestServer.PostAsync(http, server, registration))).WaitAsync(TestServer.Wait);
        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
            foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            {
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
                Assert.Equal("replayed", await TestServer.ErrorCodeAsync(refused));
            }
        }
        finally
        {
            foreach (var response in responses) response.Dispose();
        }
        using var newer = await TestServer.PostAsync(http, server, TestServer.Registration(identity, timestamp: now + 1));
        Assert.Equal(HttpStatusCode.OK, newer.StatusCode);
    }

    [Fact]
    public async Task Disposing_the_store_commits_and_answers_every_queued_registration()
    {
        using var folder = new TempFolder();
        string database = Path.Combine(folder.Path, "store.db");
        var store = new PeerStore(database);
        await store.OpenAsync();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var pending = Enumerable.Range(0, 1000)
            .Select(i => store.UpsertAsync(new BootstrapRegistration { PeerId = $"peer{i}", Addresses = ["/ip4/10.0.0.1/tcp/4001"], Network = "test", Timestamp = now }, now, "127.0.0.1"))
            .ToList();
        await store.DisposeAsync();
        var outcomes = await Task.WhenAll(pending).WaitAsync(TestServer.Wait);
        Assert.All(outcomes, o => Assert.Equal(RegistrationOutcome.Accepted, o));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.UpsertAsync(new BootstrapRegistration { PeerId = "late", Addresses = ["/ip4/10.0.0.1/tcp/4001"], Network = "test", Timestamp = now }, now, null));

        await using var reopened = new PeerStore(database);
        await reopened.OpenAsync();
        Assert.Equal(1000, await reopened.CountAsync(0));
    }
}

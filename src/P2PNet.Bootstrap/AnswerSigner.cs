using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap;

/// <summary>
/// Wraps every answer in a <see cref="BootstrapEnvelope"/>: the exact payload bytes, signed by the server's
/// identity in authority mode, unsigned in trustless mode.
/// </summary>
internal sealed class AnswerSigner
{
    private readonly Identity? _identity;

    public AnswerSigner(Identity? identity) => _identity = identity;

    public byte[] Envelope<T>(string kind, T answer, JsonTypeInfo<T> type)
    {
        byte[] payload = JsonSerializer.SerializeToUtf8Bytes(answer, type);
        var envelope = new BootstrapEnvelope
        {
            Kind = kind,
            Payload = Convert.ToBase64String(payload),
            Signer = _identity?.PeerId.ToString(),
            Signature = _identity is null ? null : Convert.ToBase64String(_identity.Sign(BootstrapSigning.AnswerBytes(kind, payload))),
        };
        return JsonSerializer.SerializeToUtf8Bytes(envelope, BootstrapJsonContext.Default.BootstrapEnvelope);
    }
}

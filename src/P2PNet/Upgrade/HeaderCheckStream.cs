using System.Text;
using P2PNet.Negotiation;
using P2PNet.Wire;

namespace P2PNet.Upgrade;

/// <summary>
/// Wraps an accepted connection while its first multistream-select message is read and fails on the first byte
/// that differs from the expected header (<c>/multistream/1.0.0</c>), so a client sending anything else (HTTP,
/// TLS, noise) is closed at once instead of after the first-byte timeout. Used only for that negotiation; the
/// security handshake then runs on the raw stream.
/// </summary>
internal sealed class HeaderCheckStream(Stream inner) : Stream
{
    private static readonly byte[] Expected = BuildExpected();
    private int _checked;

    private static byte[] BuildExpected()
    {
        string line = MultistreamSelect.ProtocolId + "\n";
        byte[] text = Encoding.UTF8.GetBytes(line);
        byte[] result = new byte[Varint.SizeOf((ulong)text.Length) + text.Length];
        int n = Varint.Write(result, (ulong)text.Length);
        text.CopyTo(result, n);
        return result;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < n && _checked < Expected.Length; i++, _checked++)
        {
            if (buffer.Span[i] != Expected[_checked])
                throw new NegotiationException(NegotiationError.Malformed, "the connection did not start with a multistream-select header");
        }
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

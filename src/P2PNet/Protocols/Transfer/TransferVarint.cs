using P2PNet.Wire;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// <see cref="Varint.TryRead"/> for the transfer codecs, whose Try-methods return false and whose request decoder
/// throws only <see cref="TransferException"/>: an overlong or non-minimal varint is one more malformed input here,
/// not a <see cref="FormatException"/> escaping them (found by the transfer fuzz harness).
/// </summary>
internal static class TransferVarint
{
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        try
        {
            return Varint.TryRead(source, out value, out consumed);
        }
        catch (FormatException)
        {
            value = 0;
            consumed = 0;
            return false;
        }
    }
}

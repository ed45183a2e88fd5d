// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Outputs;

/// <summary>An output command that cannot be carried out; the message names the source and the reason.</summary>
internal sealed class OutputException : Exception
{
    public OutputException()
    {
    }

    public OutputException(string message)
        : base(message)
    {
    }

    public OutputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public OutputException(string message, Protocol.Messages.Status status)
        : base(message)
    {
        Status = status;
    }

    /// <summary>The wire status of this refusal.</summary>
    public Protocol.Messages.Status Status { get; } = Protocol.Messages.Status.InvalidArgument;
}

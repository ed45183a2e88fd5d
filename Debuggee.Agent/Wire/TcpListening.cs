// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Net;
using System.Net.Sockets;

namespace HyperDbgRemote.Agent.Wire;

/// <summary>Opens the TCP listener of a <c>tcp://</c> or <c>gdb://</c> address, or says which address could not be
/// opened and why (in use, not this machine's, no permission) instead of ending the agent with a stack trace.</summary>
internal static class TcpListening
{
    public static TcpListener Start(ListenUri uri, int backlog)
    {
        var listener = new TcpListener(uri.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(uri.Host.Trim('[', ']')), uri.Port);
        try
        {
            listener.Start(backlog);
            return listener;
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new InvalidOperationException($"cannot listen on {uri.Text}: {Reason(ex)}", ex);
        }
    }

    /// <summary>What a failed bind means to the user.</summary>
    public static string Reason(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => "the address is in use (another program, or another agent, listens on it).",
        SocketError.AddressNotAvailable => "the address is not one of this machine's.",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges).",
        _ => ex.Message + ".",
    };
}
